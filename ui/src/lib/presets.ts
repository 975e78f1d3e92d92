// Common schedules offered as one-click presets in the schedule editor.
export interface Preset {
  label: string;
  expression: string;
}

export const PRESETS: readonly Preset[] = [
  { label: "Every minute", expression: "* * * * *" },
  { label: "Every 5 minutes", expression: "*/5 * * * *" },
  { label: "Every 15 minutes", expression: "*/15 * * * *" },
  { label: "Hourly", expression: "0 * * * *" },
  { label: "Daily at 02:30", expression: "30 2 * * *" },
  { label: "Weekdays at 09:00", expression: "0 9 * * MON-FRI" },
  { label: "Weekly, Sunday 00:00", expression: "0 0 * * SUN" },
  { label: "Monthly, 1st at 06:00", expression: "0 6 1 * *" },
  { label: "Last day of the month", expression: "0 0 L * *" },
];
