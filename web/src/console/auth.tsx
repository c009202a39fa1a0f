// The signed-in user. The session itself is the HttpOnly `sen_session` cookie; the console only
// asks the server who it is (GET /api/auth/me) and decides what to show from `permissions`.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { ApiError, api, type Me, UNAUTHORIZED_EVENT } from "../shared/api";

type AuthState = { status: "loading" } | { status: "anonymous" } | { status: "signed-in"; me: Me } | { status: "error"; error: unknown };

interface Auth {
  state: AuthState;
  me: Me | null;
  can: (permission: string) => boolean;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
  refresh: () => Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

async function loadMe(): Promise<AuthState> {
  try {
    return { status: "signed-in", me: await api<Me>("/api/auth/me") };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return { status: "anonymous" };
    return { status: "error", error: err };
  }
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: "loading" });

  const refresh = useCallback(async () => setState(await loadMe()), []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(() => {
    const ended = () => setState((s) => (s.status === "signed-in" ? { status: "anonymous" } : s));
    window.addEventListener(UNAUTHORIZED_EVENT, ended);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, ended);
  }, []);

  const signIn = useCallback(async (username: string, password: string) => {
    await api("/api/auth/login", { method: "POST", body: { username, password } });
    const next = await loadMe();
    setState(next);
    if (next.status !== "signed-in") throw new Error("signed in, but /api/auth/me did not confirm the session");
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api("/api/auth/logout", { method: "POST" });
    } catch {
      // The session may already be gone; signing out locally is what matters.
    }
    setState({ status: "anonymous" });
  }, []);

  const value = useMemo<Auth>(() => {
    const me = state.status === "signed-in" ? state.me : null;
    const permissions = new Set(me?.permissions ?? []);
    return { state, me, can: (p) => permissions.has(p), signIn, signOut, refresh };
  }, [state, signIn, signOut, refresh]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}
