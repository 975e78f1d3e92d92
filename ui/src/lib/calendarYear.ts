// The grid of a month for the calendars screen's year view: weeks from Monday, each day as
// `YYYY-MM-DD` (plain calendar dates: no zone is involved).

export const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

/** Weeks (Monday first) of `month` (0-11) of `year`; days outside the month are `null`. */
export function monthGrid(year: number, month: number): (string | null)[][] {
  const days = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  // getUTCDay: 0 = Sunday; Monday-first column of the 1st.
  const first = (new Date(Date.UTC(year, month, 1)).getUTCDay() + 6) % 7;
  const cells: (string | null)[] = Array.from({ length: first }, () => null);
  for (let day = 1; day <= days; day += 1) {
    cells.push(`${year}-${pad(month + 1)}-${pad(day)}`);
  }
  while (cells.length % 7 !== 0) cells.push(null);
  const weeks: (string | null)[][] = [];
  for (let start = 0; start < cells.length; start += 7) weeks.push(cells.slice(start, start + 7));
  return weeks;
}
