import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";

import { ZonePicker, filterZones } from "./ZonePicker";

const ZONES = ["America/New_York", "Australia/Lord_Howe", "Europe/Berlin", "Europe/London", "UTC"];

describe("filterZones", () => {
  it("matches every word anywhere, ignoring case and underscores", () => {
    expect(filterZones(ZONES, "europe")).toEqual(["Europe/Berlin", "Europe/London"]);
    expect(filterZones(ZONES, "new york")).toEqual(["America/New_York"]);
    expect(filterZones(ZONES, "lord_howe")).toEqual(["Australia/Lord_Howe"]);
    expect(filterZones(ZONES, "")).toEqual(ZONES);
    expect(filterZones(ZONES, "mars")).toEqual([]);
  });
});

describe("ZonePicker", () => {
  it("filters as you type and chooses with the keyboard", () => {
    const onChange = vi.fn();
    render(<ZonePicker id="zone" zones={ZONES} value="UTC" onChange={onChange} invalid={false} />);
    const input = screen.getByRole("combobox");
    fireEvent.focus(input);
    fireEvent.change(input, { target: { value: "berl" } });
    expect(screen.getAllByRole("option").map((option) => option.textContent)).toEqual(["Europe/Berlin"]);
    fireEvent.keyDown(input, { key: "Enter" });
    expect(onChange).toHaveBeenCalledWith("Europe/Berlin");
    expect(screen.queryByRole("listbox")).toBeNull();
  });

  it("chooses with the mouse", () => {
    const onChange = vi.fn();
    render(<ZonePicker id="zone" zones={ZONES} value="UTC" onChange={onChange} invalid={false} />);
    fireEvent.focus(screen.getByRole("combobox"));
    fireEvent.mouseDown(screen.getByRole("option", { name: "Europe/London" }));
    expect(onChange).toHaveBeenCalledWith("Europe/London");
  });

  it("hands an unknown name to the core to judge", () => {
    const onChange = vi.fn();
    render(<ZonePicker id="zone" zones={ZONES} value="UTC" onChange={onChange} invalid={false} />);
    const input = screen.getByRole("combobox");
    fireEvent.focus(input);
    fireEvent.change(input, { target: { value: "Mars/Olympus" } });
    fireEvent.blur(input);
    expect(onChange).toHaveBeenCalledWith("Mars/Olympus");
  });
});
