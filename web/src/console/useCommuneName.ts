import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { AdminUnit } from "../shared/api";
import { loadCommuneUnits } from "./data";

/** Returns a function giving a commune's full name (in the current language) from its code. */
export function useCommuneName(): { name: (code: string | null | undefined) => string; units: AdminUnit[] } {
  const { i18n } = useTranslation();
  const [units, setUnits] = useState<AdminUnit[]>([]);
  useEffect(() => {
    loadCommuneUnits().then(setUnits, () => {});
  }, []);
  const byCode = new Map(units.map((u) => [u.code, u]));
  return {
    units,
    name: (code) => {
      if (!code) return "—";
      const u = byCode.get(code);
      if (!u) return code;
      return (i18n.language === "en" ? u.fullNameEn : u.fullName) || u.fullName || u.name || code;
    },
  };
}
