// A short alert tone for new critical alarms, made with WebAudio (no sound file). Browsers let a
// page make sound only after the user has interacted with it, so the audio context is created on
// the first click or key press; until then playAlarmTone() does nothing and says so.
let ctx: AudioContext | null = null;
let armed = false;

function unlock() {
  try {
    ctx ??= new AudioContext();
    if (ctx.state === "suspended") void ctx.resume();
  } catch {
    ctx = null;
  }
  if (ctx?.state === "running") {
    window.removeEventListener("pointerdown", unlock, true);
    window.removeEventListener("keydown", unlock, true);
  }
}

/** Prepare sound: listens for the first user gesture. Safe to call many times. */
export function armAlarmSound(): void {
  if (armed || typeof window === "undefined" || !("AudioContext" in window)) return;
  armed = true;
  window.addEventListener("pointerdown", unlock, true);
  window.addEventListener("keydown", unlock, true);
}

/** Three short falling two-tone beeps (~1 s). Returns false when sound is not possible yet. */
export function playAlarmTone(): boolean {
  if (ctx?.state !== "running") return false;
  const start = ctx.currentTime + 0.02;
  const out = ctx.createGain();
  out.gain.value = 0.22;
  out.connect(ctx.destination);
  for (let i = 0; i < 3; i++) {
    for (const [offset, freq] of [
      [0, 988],
      [0.14, 740],
    ] as const) {
      const t = start + i * 0.34 + offset;
      const osc = ctx.createOscillator();
      const env = ctx.createGain();
      osc.type = "triangle";
      osc.frequency.value = freq;
      env.gain.setValueAtTime(0.0001, t);
      env.gain.exponentialRampToValueAtTime(1, t + 0.012);
      env.gain.exponentialRampToValueAtTime(0.0001, t + 0.13);
      osc.connect(env).connect(out);
      osc.start(t);
      osc.stop(t + 0.14);
    }
  }
  return true;
}

export const soundReady = () => ctx?.state === "running";
