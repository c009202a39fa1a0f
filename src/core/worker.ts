// Where a worker thread's entry file is. Compiled (dist/), it is the JavaScript file beside the
// caller. From source (the tests) it is TypeScript, loaded through tsx by a one-line bootstrap.
export function workerUrl(callerUrl: string, name: string): URL {
  if (!callerUrl.endsWith(".ts")) return new URL(`./${name}.js`, callerUrl);
  const target = new URL(`./${name}.ts`, callerUrl).href;
  const bootstrap = `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))}; register(); await import(${JSON.stringify(target)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}
