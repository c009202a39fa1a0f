import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { Agency } from "../shared/api";
import { loadAgencies } from "./data";

/** Returns a function giving an agency's name (in the current language) from its code. */
export function useAgencyName(): (code: string | null | undefined) => string {
  const { i18n } = useTranslation();
  const [agencies, setAgencies] = useState<Map<string, Agency>>(new Map());
  useEffect(() => {
    loadAgencies().then(
      (list) => setAgencies(new Map(list.map((a) => [a.code, a]))),
      () => {},
    );
  }, []);
  return (code) => {
    if (!code) return "—";
    const a = agencies.get(code);
    if (!a) return code;
    return (i18n.language === "en" ? a.nameEn : a.name) || a.name || code;
  };
}
