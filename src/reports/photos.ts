// Photos are checked by what they contain, never by their name or declared type: sharp decodes
// the header, and only JPEG, PNG and WebP pass (SVG, HTML, executables and the rest do not).
// Every photo is re-encoded, which drops EXIF (GPS position, phone model) after applying its
// orientation, and gets a thumbnail.
import type Sharp from "sharp";
import { badRequest } from "../core/errors.ts";
import type { PreparedPhoto } from "./types.ts";

export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
export const MAX_PHOTOS = 5;
const MAX_PIXELS = 50_000_000;
const LONG_EDGE = 2560;
const THUMB_EDGE = 320;

const FORMATS = { jpeg: "image/jpeg", png: "image/png", webp: "image/webp" } as const;

// libvips is loaded with the first photo, not at start: ~10 MB a server without photos never needs.
let loaded: Promise<typeof Sharp> | undefined;
const loadSharp = () => (loaded ??= import("sharp").then((m) => m.default));

export async function preparePhoto(input: Buffer, name = "photo"): Promise<PreparedPhoto> {
  const sharp = await loadSharp();
  let format: string | undefined;
  try {
    // limitInputPixels guards against decompression bombs; failOn "error" refuses broken files.
    format = (await sharp(input, { limitInputPixels: MAX_PIXELS, failOn: "error" }).metadata()).format;
  } catch {
    throw badRequest(`${name} is not an image (JPEG, PNG or WebP).`, { errors: [{ path: "/photos", message: "not an image" }] });
  }
  if (!format || !(format in FORMATS))
    throw badRequest(`${name} is ${format ?? "an unknown format"}; only JPEG, PNG and WebP photos are accepted.`, {
      errors: [{ path: "/photos", message: "unsupported image format" }],
    });
  const mime = FORMATS[format as keyof typeof FORMATS];
  try {
    const base = () => sharp(input, { limitInputPixels: MAX_PIXELS, failOn: "error" }).rotate();
    const resized = base().resize({ width: LONG_EDGE, height: LONG_EDGE, fit: "inside", withoutEnlargement: true });
    const encoded = format === "png" ? resized.png({ compressionLevel: 8 }) : format === "webp" ? resized.webp({ quality: 85 }) : resized.jpeg({ quality: 85 });
    const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
    const thumb = await base()
      .resize({ width: THUMB_EDGE, height: THUMB_EDGE, fit: "inside", withoutEnlargement: true })
      .flatten({ background: "#ffffff" })
      .jpeg({ quality: 75 })
      .toBuffer();
    return { mime, width: info.width, height: info.height, data, thumb };
  } catch {
    throw badRequest(`${name} could not be read as an image.`, { errors: [{ path: "/photos", message: "corrupt image" }] });
  }
}
