import { useTranslation } from "react-i18next";
import { currentLanguage, LANGUAGES, setLanguage } from "../i18n";

/** A two-button vi/en switch; the choice is remembered in localStorage. */
export function LanguageSwitch({ className }: { className?: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language === "en" ? "en" : currentLanguage();
  return (
    <fieldset className={`lang-switch ${className ?? ""}`}>
      <legend className="visually-hidden">{t("lang.label")}</legend>
      {LANGUAGES.map((l) => (
        <button key={l} type="button" lang={l} aria-pressed={lang === l} className={lang === l ? "active" : ""} onClick={() => setLanguage(l)}>
          {t(`lang.${l}`)}
        </button>
      ))}
    </fieldset>
  );
}
