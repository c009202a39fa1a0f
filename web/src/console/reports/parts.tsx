// Small pieces the report pages share: the status chip, the deadline, category names.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { formatDateTime, formatRelative } from "../../shared/format";
import { type Category, OPEN_STATUSES, type Report } from "../../app/reports/client";
import "./reports.css";

export function StatusChip({ status }: { status: Report["status"] }) {
  const { t } = useTranslation();
  return <span className={`report-status report-status-${status}`}>{t(`reports.statuses.${status}`)}</span>;
}

export function Deadline({ report }: { report: Pick<Report, "deadlineAt" | "overdue" | "status"> }) {
  const { t, i18n } = useTranslation();
  const open = OPEN_STATUSES.includes(report.status);
  const late = open && (report.overdue || new Date(report.deadlineAt).getTime() < Date.now());
  return (
    <span className={late ? "report-late" : ""} title={formatDateTime(report.deadlineAt, i18n.language)}>
      {late && <strong>{t("reports.overdue")} · </strong>}
      {open ? formatRelative(report.deadlineAt, i18n.language) : formatDateTime(report.deadlineAt, i18n.language)}
    </span>
  );
}

let categories: Promise<Category[]> | undefined;
export function useCategories(): Category[] {
  const [list, setList] = useState<Category[]>([]);
  useEffect(() => {
    categories ??= api<Category[]>("/api/reports/categories");
    categories.then(setList, () => {
      categories = undefined;
    });
  }, []);
  return list;
}
