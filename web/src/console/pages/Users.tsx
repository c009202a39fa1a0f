// Administration: the list of user accounts (permission users:read).
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, type User } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { useAgencyName } from "../useAgencyName";
import { ErrorMessage } from "./Misc";

export function UsersPage() {
  const { t, i18n } = useTranslation();
  const agencyName = useAgencyName();
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api<User[]>("/api/users?limit=100").then(setUsers, setError);
  }, []);

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>{t("users.title")}</h1>
          <p className="page-sub">{t("users.subtitle")}</p>
        </div>
        {users && <span className="page-meta">{t("users.count", { count: users.length })}</span>}
      </header>
      {error ? (
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
      ) : !users ? (
        <p className="muted">{t("common.loading")}</p>
      ) : users.length === 0 ? (
        <p className="muted">{t("users.empty")}</p>
      ) : (
        <div className="card table-card">
          <table className="table" data-testid="users-table">
            <thead>
              <tr>
                <th>{t("users.displayName")}</th>
                <th>{t("users.username")}</th>
                <th>{t("users.agency")}</th>
                <th>{t("users.roles")}</th>
                <th>{t("users.status")}</th>
                <th>{t("users.lastLogin")}</th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id}>
                  <td>
                    <div className="strong">{u.displayName}</div>
                    {(u.email || u.phone) && <div className="muted small">{[u.email, u.phone].filter(Boolean).join(" · ")}</div>}
                  </td>
                  <td>
                    <code>{u.username}</code>
                  </td>
                  <td>{agencyName(u.agency)}</td>
                  <td>
                    {u.roles.map((r) => (
                      <span className="chip" key={r} title={r}>
                        {t(`roles.${r}`, { defaultValue: r })}
                      </span>
                    ))}
                  </td>
                  <td>
                    <span className={`status ${u.active ? "status-ok" : "status-off"}`}>{u.active ? t("users.active") : t("users.inactive")}</span>
                  </td>
                  <td className="nowrap">{u.lastLoginAt ? formatDateTime(u.lastLoginAt, i18n.language) : t("users.never")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
