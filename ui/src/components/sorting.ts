// How a sorted column header tells people (and assistive technology) its order.
export type Sorted = false | "asc" | "desc";

export function sortState(sorted: Sorted): "ascending" | "descending" | undefined {
  if (sorted === "asc") return "ascending";
  if (sorted === "desc") return "descending";
  return undefined;
}

export function sortMark(sorted: Sorted): string {
  if (sorted === "asc") return " ▲";
  if (sorted === "desc") return " ▼";
  return "";
}
