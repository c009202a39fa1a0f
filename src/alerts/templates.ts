// Starting points per hazard for the composer and for sensor drafts: CAP codes and the texts in
// Vietnamese and English. {area}, {station}, {value} and {level} are filled in by the composer
// or by the sensor rule; officers edit the result before submitting.

export const HAZARDS = ["flood", "storm", "pest", "epidemic", "salinity", "other"] as const;
export type Hazard = (typeof HAZARDS)[number];

export interface TemplateText {
  event: string;
  headline: string;
  description: string;
  instruction: string;
}

export interface Template {
  hazard: Hazard;
  categories: string[];
  responseTypes: string[];
  urgency: string;
  severity: string;
  certainty: string;
  /** Default validity. */
  expiresHours: number;
  vi: TemplateText;
  en: TemplateText;
}

export const TEMPLATES: Record<Hazard, Template> = {
  flood: {
    hazard: "flood",
    categories: ["Met"],
    responseTypes: ["Prepare", "Monitor"],
    urgency: "Expected",
    severity: "Severe",
    certainty: "Likely",
    expiresHours: 24,
    vi: {
      event: "Lũ",
      headline: "Cảnh báo lũ: mực nước {station} đạt {value} m ({level})",
      description: "Mực nước tại {station} đã đạt {value} m, ở mức {level}. Nguy cơ ngập úng tại vùng trũng thấp, ven sông và ngoài đê bao thuộc: {area}.",
      instruction:
        "Theo dõi thông tin từ chính quyền địa phương. Kê cao tài sản, gia cố đê bao, chuẩn bị phương án di dời khi có yêu cầu. Không cho trẻ em chơi gần sông, kênh rạch.",
    },
    en: {
      event: "Flood",
      headline: "Flood warning: water level at {station} reached {value} m ({level})",
      description:
        "The water level at {station} has reached {value} m, at {level}. Flooding is likely in low-lying, riverside and unprotected areas of: {area}.",
      instruction:
        "Follow local authority updates. Move belongings to higher ground, reinforce dykes and be ready to evacuate when told to. Keep children away from rivers and canals.",
    },
  },
  storm: {
    hazard: "storm",
    categories: ["Met"],
    responseTypes: ["Shelter", "Prepare"],
    urgency: "Expected",
    severity: "Severe",
    certainty: "Likely",
    expiresHours: 24,
    vi: {
      event: "Dông, lốc, mưa lớn",
      headline: "Cảnh báo dông, lốc và mưa lớn tại {area}",
      description: "Có khả năng xảy ra dông, lốc, sét và mưa lớn cục bộ tại: {area}.",
      instruction: "Không trú dưới cây cao hoặc công trình tạm. Chằng chống nhà cửa. Tàu thuyền vào nơi neo đậu an toàn.",
    },
    en: {
      event: "Thunderstorm and heavy rain",
      headline: "Thunderstorm, whirlwind and heavy rain warning for {area}",
      description: "Thunderstorms with whirlwinds, lightning and local heavy rain are likely in: {area}.",
      instruction: "Do not shelter under tall trees or temporary structures. Secure homes. Boats should move to safe anchorages.",
    },
  },
  pest: {
    hazard: "pest",
    categories: ["Env"],
    responseTypes: ["Monitor", "Execute"],
    urgency: "Expected",
    severity: "Moderate",
    certainty: "Observed",
    expiresHours: 72,
    vi: {
      event: "Sâu bệnh hại cây trồng",
      headline: "Cảnh báo mật độ {station} tăng cao",
      description: "Bẫy đèn ghi nhận {value} con/bẫy/đêm ({level}). Nguy cơ gây hại trên lúa tại: {area}.",
      instruction:
        "Thăm đồng thường xuyên, kiểm tra mật độ rầy ở gốc lúa. Chỉ phun thuốc khi mật độ vượt ngưỡng, theo hướng dẫn của cán bộ bảo vệ thực vật (nguyên tắc 4 đúng).",
    },
    en: {
      event: "Crop pest",
      headline: "Pest warning: high counts at {station}",
      description: "The light trap counted {value} insects per trap per night ({level}). Rice fields are at risk in: {area}.",
      instruction: "Inspect fields often and check the base of rice plants. Spray only above the action threshold and as advised by plant-protection officers.",
    },
  },
  epidemic: {
    hazard: "epidemic",
    categories: ["Health"],
    responseTypes: ["Prepare", "Monitor"],
    urgency: "Expected",
    severity: "Moderate",
    certainty: "Likely",
    expiresHours: 168,
    vi: {
      event: "Dịch bệnh",
      headline: "Cảnh báo dịch bệnh tại {area}",
      description: "Số ca mắc tăng tại: {area}.",
      instruction: "Rửa tay thường xuyên, diệt lăng quăng, đến cơ sở y tế khi có triệu chứng. Theo dõi hướng dẫn của Sở Y tế.",
    },
    en: {
      event: "Epidemic",
      headline: "Epidemic warning for {area}",
      description: "Cases are rising in: {area}.",
      instruction: "Wash hands often, remove mosquito breeding sites and see a health facility if you have symptoms. Follow the Department of Health's advice.",
    },
  },
  salinity: {
    hazard: "salinity",
    categories: ["Env"],
    responseTypes: ["Prepare", "Monitor"],
    urgency: "Expected",
    severity: "Moderate",
    certainty: "Observed",
    expiresHours: 72,
    vi: {
      event: "Xâm nhập mặn",
      headline: "Cảnh báo xâm nhập mặn tại {area}",
      description: "Độ mặn tại {station} đạt {value} ‰. Ảnh hưởng đến nước tưới và sinh hoạt tại: {area}.",
      instruction: "Không lấy nước tưới khi độ mặn vượt ngưỡng. Trữ nước ngọt cho sinh hoạt và chăn nuôi.",
    },
    en: {
      event: "Saltwater intrusion",
      headline: "Saltwater intrusion warning for {area}",
      description: "Salinity at {station} reached {value} ‰, affecting irrigation and household water in: {area}.",
      instruction: "Do not take irrigation water above the salinity threshold. Store fresh water for households and livestock.",
    },
  },
  other: {
    hazard: "other",
    categories: ["Safety"],
    responseTypes: ["Monitor"],
    urgency: "Expected",
    severity: "Moderate",
    certainty: "Likely",
    expiresHours: 24,
    vi: { event: "Cảnh báo", headline: "Cảnh báo tại {area}", description: "", instruction: "" },
    en: { event: "Warning", headline: "Warning for {area}", description: "", instruction: "" },
  },
};

/** Fill {placeholders}; unknown ones are left for the officer to see and replace. */
export function fill(s: string, vars: Record<string, string>): string {
  return s.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
}
