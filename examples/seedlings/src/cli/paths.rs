//! Paths given on the command line, checked where they enter so that a bad one gets a message
//! that tells the truth: nothing there, a file where a folder is expected, a folder where a
//! file is expected, or a folder that cannot be read.

use std::fs;
use std::path::Path;

use anyhow::{Result, bail};

/// `path` (given as `flag`) must be a readable folder.
pub fn folder(flag: &str, path: &Path) -> Result<()> {
    match fs::metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            bail!("{flag} {}: no such folder", path.display())
        }
        Err(err) => bail!("{flag} {}: cannot be read: {err}", path.display()),
        Ok(meta) if !meta.is_dir() => {
            bail!("{flag} {} is a file; a folder was expected", path.display())
        }
        Ok(_) => match fs::read_dir(path) {
            Ok(_) => Ok(()),
            Err(err) => bail!(
                "{flag} {}: the folder cannot be read: {err}",
                path.display()
            ),
        },
    }
}

/// `path` (given as `flag`) must not be a folder: a file, or a program name looked up on `PATH`
/// (only a name with a path separator is checked here).
pub fn program(flag: &str, path: &str) -> Result<()> {
    let as_path = Path::new(path);
    if as_path.components().count() > 1 {
        match fs::metadata(as_path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                bail!("{flag} {path}: no such file")
            }
            Err(err) => bail!("{flag} {path}: cannot be read: {err}"),
            Ok(meta) if meta.is_dir() => {
                bail!("{flag} {path} is a folder; a program (a file) was expected")
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.txt");
        fs::write(&file, "x").unwrap();
        let missing = dir.path().join("nope");
        let msg = |r: Result<()>| r.unwrap_err().to_string();
        assert_eq!(
            msg(folder("--data", &missing)),
            format!("--data {}: no such folder", missing.display())
        );
        assert_eq!(
            msg(folder("--data", &file)),
            format!("--data {} is a file; a folder was expected", file.display())
        );
        folder("--data", dir.path()).unwrap();
        let d = dir.path().to_str().unwrap();
        assert_eq!(
            msg(program("--torch-python", d)),
            format!("--torch-python {d} is a folder; a program (a file) was expected")
        );
        program("--torch-python", file.to_str().unwrap()).unwrap();
        program("--torch-python", "python3").unwrap();
        assert!(msg(program("--torch-python", missing.to_str().unwrap())).contains("no such file"));
    }
}
