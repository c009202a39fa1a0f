// The console frame: left navigation, a header with the province name and the user menu.
import { type ReactNode, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { LanguageSwitch } from "../shared/LanguageSwitch";
import { Logo } from "../shared/Logo";
import { AlarmBadge, CriticalBanner } from "./AlarmBanner";
import { AlarmsProvider, useAlarms } from "./alarms";
import { useAuth } from "./auth";
import { loadProvince } from "./data";
import { Icon, type IconName } from "./icons";
import { CONSOLE_MODULES, type NavGroup } from "./modules";
import { Link, navigate, useLocation } from "../shared/router";
import { useAgencyName } from "./useAgencyName";

interface NavItem {
  /** Translation key of the label. */
  label: string;
  icon: IconName;
  path: string;
  permission?: string;
  order: number;
}

const GROUPS: { group: NavGroup; title: string }[] = [
  { group: "operations", title: "nav.groupOperations" },
  { group: "services", title: "nav.groupServices" },
  { group: "admin", title: "nav.groupAdmin" },
];

const SHELL_NAV: Record<NavGroup, NavItem[]> = {
  operations: [
    { label: "nav.overview", icon: "overview", path: "/", order: 10 },
    { label: "nav.map", icon: "map", path: "/map", order: 20 },
    { label: "nav.iot", icon: "iot", path: "/devices", permission: "devices:read", order: 30 },
    { label: "nav.alarms", icon: "alarms", path: "/alarms", permission: "alarms:read", order: 40 },
  ],
  services: [],
  admin: [
    { label: "nav.users", icon: "users", path: "/admin/users", permission: "users:read", order: 10 },
    { label: "nav.audit", icon: "audit", path: "/admin/audit", permission: "audit:read", order: 20 },
  ],
};

/** The shell's entries and every module's, per group, in order. */
const NAV = GROUPS.map(({ group, title }) => ({
  group: title,
  items: [...SHELL_NAV[group], ...CONSOLE_MODULES.flatMap((m) => m.nav.filter((n) => n.group === group).map((n) => ({ ...n, order: n.order ?? 100 })))].sort(
    (a, b) => a.order - b.order,
  ),
}));

function useProvinceName(): string | null {
  const { i18n } = useTranslation();
  const [names, setNames] = useState<{ vi: string; en: string } | null>(null);
  useEffect(() => {
    loadProvince()
      .then((p) => setNames({ vi: p.fullName, en: p.fullNameEn || p.fullName }))
      .catch(() => setNames(null));
  }, []);
  if (!names) return null;
  return i18n.language === "en" ? names.en : names.vi;
}

function Sidebar({ open, onNavigate }: { open: boolean; onNavigate: () => void }) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { pathname } = useLocation();
  const alarms = useAlarms();
  const activeAlarms = alarms.available ? (alarms.summary?.total ?? alarms.active.length) : 0;
  const critical = alarms.criticals.length > 0;
  return (
    <aside className={`sidebar ${open ? "open" : ""}`} id="sidebar">
      <div className="brand">
        <Logo size={36} />
        <div>
          <div className="brand-name">{t("app.name")}</div>
          <div className="brand-sub">{t("app.consoleName")}</div>
        </div>
      </div>
      <nav aria-label={t("nav.label")}>
        {NAV.map(({ group, items }) => {
          const visible = items.filter((i) => !i.permission || can(i.permission));
          if (!visible.length) return null;
          return (
            <div className="nav-group" key={group}>
              <div className="nav-group-title">{t(group)}</div>
              <ul>
                {visible.map((item) => {
                  const label = t(item.label);
                  const active = item.path === "/" ? pathname === "/" : pathname.startsWith(item.path);
                  return (
                    <li key={item.path}>
                      <Link to={item.path} className={`nav-item ${active ? "active" : ""}`} aria-current={active ? "page" : undefined} onClick={onNavigate}>
                        <Icon name={item.icon} />
                        <span className="nav-label">{label}</span>
                        {item.path === "/alarms" && activeAlarms > 0 && (
                          <span className={`nav-count ${critical ? "critical" : ""}`} title={t("alarms.activeCount", { count: activeAlarms })}>
                            {activeAlarms}
                          </span>
                        )}
                      </Link>
                    </li>
                  );
                })}
              </ul>
            </div>
          );
        })}
      </nav>
      <div className="sidebar-foot">
        <a href="/api/docs" target="_blank" rel="noreferrer">
          {t("common.apiDocs")}
        </a>
      </div>
    </aside>
  );
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : name.slice(0, 2);
  return letters.toUpperCase();
}

function UserMenu() {
  const { t } = useTranslation();
  const { me, signOut } = useAuth();
  const agencyName = useAgencyName();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: PointerEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") setOpen(false);
    };
    document.addEventListener("pointerdown", onDown);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("pointerdown", onDown);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);

  if (!me) return null;
  const displayName = me.user?.displayName || me.name;
  const handleSignOut = async () => {
    setBusy(true);
    await signOut();
    navigate("/login", { replace: true });
  };

  return (
    <div className="user-menu" ref={ref}>
      <button type="button" className="user-button" aria-haspopup="true" aria-expanded={open} aria-controls="user-menu-panel" onClick={() => setOpen(!open)}>
        <span className="avatar" aria-hidden="true">
          {initials(displayName)}
        </span>
        <span className="user-button-name">{displayName}</span>
        <Icon name="chevron" size={16} />
      </button>
      {open && (
        <div className="user-panel" id="user-menu-panel">
          <div className="user-panel-head">
            <div className="user-panel-name">{displayName}</div>
            {me.user?.username && <div className="muted">@{me.user.username}</div>}
          </div>
          <dl className="user-facts">
            <dt>{t("user.roles")}</dt>
            <dd>
              {me.roles.length ? (
                me.roles.map((r) => (
                  <span className="chip" key={r} title={r}>
                    {t(`roles.${r}`, { defaultValue: r })}
                  </span>
                ))
              ) : (
                <span className="muted">{t("common.none")}</span>
              )}
            </dd>
            {me.agency && (
              <>
                <dt>{t("user.agency")}</dt>
                <dd>{agencyName(me.agency)}</dd>
              </>
            )}
          </dl>
          <div className="user-panel-section">
            <div className="user-panel-label">
              <Icon name="globe" size={16} /> {t("lang.label")}
            </div>
            <LanguageSwitch />
          </div>
          <button type="button" className="btn btn-ghost btn-block" onClick={handleSignOut} disabled={busy}>
            <Icon name="signOut" size={18} /> {busy ? t("user.signingOut") : t("user.signOut")}
          </button>
        </div>
      )}
    </div>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  return (
    <AlarmsProvider>
      <Frame>{children}</Frame>
    </AlarmsProvider>
  );
}

function Frame({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const province = useProvinceName();
  const [navOpen, setNavOpen] = useState(false);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        {t("app.skipToContent")}
      </a>
      <Sidebar open={navOpen} onNavigate={() => setNavOpen(false)} />
      {navOpen && <button type="button" className="scrim" tabIndex={-1} aria-label={t("nav.closeMenu")} onClick={() => setNavOpen(false)} />}
      <div className="main-col">
        <div className="topbar-wrap">
          <header className="topbar">
            <button
              type="button"
              className="icon-button menu-toggle"
              aria-controls="sidebar"
              aria-expanded={navOpen}
              aria-label={navOpen ? t("nav.closeMenu") : t("nav.openMenu")}
              onClick={() => setNavOpen(!navOpen)}
            >
              <Icon name={navOpen ? "close" : "menu"} />
            </button>
            <div className="topbar-title">
              <div className="province-name" data-testid="province-name">
                {province ?? t("app.provinceFallback")}
              </div>
              <div className="topbar-sub">{t("app.tagline")}</div>
            </div>
            <AlarmBadge />
            <UserMenu />
          </header>
          <CriticalBanner />
        </div>
        <main id="main" className="content" tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}
