/** Folds Vietnamese text for accent-insensitive matching: "Cao Lãnh" → "cao lanh", "Đồng" → "dong". */
export function fold(text: string): string {
  return text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/đ/g, "d")
    .replace(/Đ/g, "D")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();
}
