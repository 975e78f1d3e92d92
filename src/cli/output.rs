//! Printing listings: aligned tables for people, JSON (`--json`) for scripts.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use comfy_table::{presets::UTF8_BORDERS_ONLY, ContentArrangement, Table};
use serde::Serialize;

pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub fn print_table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    println!("{table}");
}

pub fn instant(value: Option<DateTime<Utc>>) -> String {
    value.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap_or_else(|| "-".into())
}
