//! `seedlings download`: fetches and unpacks the public Aarhus "V2 Plant Seedlings" archive.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use seedlings::data;

#[derive(Args, Debug)]
pub struct DownloadArgs {
    /// Address of the zip archive (http, https or file).
    #[arg(long, default_value = data::AARHUS_V2_URL)]
    url: String,
    /// Where to unpack it.
    #[arg(long, default_value = data::DEFAULT_DATA_DIR)]
    dest: PathBuf,
}

pub fn run(args: DownloadArgs) -> Result<ExitCode> {
    eprintln!(
        "seedlings: downloading {} into {}",
        args.url,
        args.dest.display()
    );
    let root = data::download(&args.url, &args.dest)?;
    println!("data ready in {}", root.display());
    Ok(ExitCode::SUCCESS)
}
