// Dates, sizes and durations as people read them.

const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** An ISO 8601 time in the reader's locale and time zone; the input itself if unreadable. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "";
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso : DATE.format(time);
}

/** A machine-readable <time> element for *iso*. */
export function timeElement(iso: string): HTMLTimeElement {
  const element = document.createElement("time");
  element.dateTime = iso;
  element.textContent = formatDate(iso);
  return element;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
