import { useId, useMemo, useState, type KeyboardEvent } from "react";

/** How many matches the list shows at once; typing narrows it. */
const SHOWN = 60;

/** Zones whose name contains every word of `query` (ignoring case, `_` matches a space). */
export function filterZones(zones: readonly string[], query: string): string[] {
  const words = query.toLowerCase().replaceAll("_", " ").split(/[\s/]+/).filter((word) => word !== "");
  if (words.length === 0) return [...zones];
  return zones.filter((zone) => {
    const name = zone.toLowerCase().replaceAll("_", " ");
    return words.every((word) => name.includes(word));
  });
}

/** A searchable IANA zone picker (a combobox over the zone names the core knows). */
export function ZonePicker({
  id,
  zones,
  value,
  onChange,
  invalid,
  describedBy,
}: {
  id: string;
  zones: readonly string[];
  value: string;
  onChange: (zone: string) => void;
  invalid: boolean;
  describedBy?: string;
}) {
  const listId = useId();
  const [query, setQuery] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const open = query !== null;
  const matches = useMemo(() => (open ? filterZones(zones, query).slice(0, SHOWN) : []), [open, zones, query]);

  const choose = (zone: string) => {
    onChange(zone);
    setQuery(null);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!open) setQuery("");
      setActive((index) => Math.min(index + 1, Math.max(matches.length - 1, 0)));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive((index) => Math.max(index - 1, 0));
    } else if (event.key === "Enter" && open) {
      event.preventDefault();
      const zone = matches[active];
      if (zone !== undefined) choose(zone);
    } else if (event.key === "Escape") {
      setQuery(null);
    }
  };

  return (
    <div className="combobox">
      <input
        id={id}
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-invalid={invalid ? true : undefined}
        aria-describedby={describedBy}
        autoComplete="off"
        spellCheck={false}
        value={open ? query : value}
        placeholder={value}
        onFocus={() => { setQuery(""); setActive(0); }}
        onChange={(event) => { setQuery(event.target.value); setActive(0); }}
        onKeyDown={onKeyDown}
        onBlur={() => {
          // A typed name that is a zone counts as chosen; anything else goes to the core to
          // be reported (the user may mean a zone this list lacks).
          if (query !== null && query.trim() !== "" && matches.length > 0 && zones.includes(query.trim())) {
            choose(query.trim());
          } else if (query !== null && query.trim() !== "" && matches.length === 0) {
            choose(query.trim());
          } else {
            setQuery(null);
          }
        }}
      />
      {open && (
        <ul id={listId} role="listbox" className="options" aria-label="Time zones">
          {matches.map((zone, index) => (
            <li
              key={zone}
              role="option"
              aria-selected={index === active}
              className={index === active ? "active" : undefined}
              // Before the input's blur, so the click chooses.
              onMouseDown={(event) => { event.preventDefault(); choose(zone); }}
            >
              {zone}
            </li>
          ))}
          {matches.length === 0 && <li className="none">No zone matches “{query}”.</li>}
        </ul>
      )}
    </div>
  );
}
