// Sen's mark: a lotus (sen), the flower of Đồng Tháp.
export function Logo({ size = 32, title }: { size?: number; title?: string }) {
  return (
    <svg width={size} height={size} viewBox="0 0 64 64" role={title ? "img" : undefined} aria-hidden={title ? undefined : true} aria-label={title}>
      <rect width="64" height="64" rx="14" fill="#0e4a5a" />
      <path d="M32 13c-6 7-8.5 14-8.5 20.5S27 45 32 49c5-4 8.5-9 8.5-15.5S38 20 32 13z" fill="#f4a6c0" />
      <path d="M14 27c2.5 9 8 17 18 22-3-6-5-12-4.5-18C24 28 19 27 14 27z" fill="#e7789f" />
      <path d="M50 27c-2.5 9-8 17-18 22 3-6 5-12 4.5-18C40 28 45 27 50 27z" fill="#e7789f" />
      <path d="M16 49.5c10 3 22 3 32 0" stroke="#8fd0c4" strokeWidth="3" strokeLinecap="round" fill="none" />
    </svg>
  );
}
