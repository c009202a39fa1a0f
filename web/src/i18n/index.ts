// i18next set-up shared by the console and the citizen app. Vietnamese is the default language,
// English the second; the choice is remembered in localStorage.
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import en from "./en.json";
import vi from "./vi.json";

// Each module keeps its own strings in modules/<name>.<lang>.json, reached as "<name>.<key>".
const moduleFiles = import.meta.glob<Record<string, unknown>>("./modules/*.json", { eager: true, import: "default" });

function withModules(base: Record<string, unknown>, lang: string): Record<string, unknown> {
  const merged = { ...base };
  for (const [file, strings] of Object.entries(moduleFiles)) {
    const m = /\/([a-z0-9-]+)\.([a-z]+)\.json$/.exec(file);
    if (m && m[2] === lang) merged[m[1]] = strings;
  }
  return merged;
}

export const LANGUAGES = ["vi", "en"] as const;
export type Language = (typeof LANGUAGES)[number];
const STORAGE_KEY = "sen.lang";

function storedLanguage(): Language {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === "vi" || saved === "en") return saved;
  } catch {}
  return "vi";
}

export function setLanguage(lang: Language): void {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {}
  void i18n.changeLanguage(lang);
}

export function currentLanguage(): Language {
  return i18n.language === "en" ? "en" : "vi";
}

void i18n.use(initReactI18next).init({
  resources: { vi: { translation: withModules(vi, "vi") }, en: { translation: withModules(en, "en") } },
  lng: storedLanguage(),
  fallbackLng: "vi",
  supportedLngs: [...LANGUAGES],
  interpolation: { escapeValue: false },
  returnNull: false,
  showSupportNotice: false,
});

document.documentElement.lang = i18n.language;
i18n.on("languageChanged", (lng) => {
  document.documentElement.lang = lng;
});

export default i18n;
