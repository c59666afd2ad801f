//! Which files `assetd upload` sends: its PATH arguments as files, or as glob patterns expanded
//! here (a quoted pattern reaches the program unexpanded, and Windows shells never expand them).

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

/// One file to upload: the path as the user wrote it (or as its pattern matched it), and its size
/// when it was listed.
#[derive(Debug, Clone)]
pub struct Listed {
    pub path: PathBuf,
    pub size: u64,
}

/// Why the arguments name no upload: a usage error (exit status 2), nothing is sent.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{0}: no such file, and no file matches it")]
    NoMatch(String),
    #[error("{0}: not a valid glob pattern: {1}")]
    BadPattern(String, glob::PatternError),
    #[error("{0}: is a directory (name its files, e.g. '{0}/*')")]
    Directory(String),
    #[error("{path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
}

fn is_pattern(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

/// Every regular file the arguments name, in argument order (a pattern's matches sorted), each
/// once. An argument that is an existing path is taken as it is, even if its name has `*` or
/// `[` in it; otherwise a pattern must match at least one file. Directories a pattern matches
/// are skipped; a directory named directly is an error.
pub fn list(args: &[String]) -> Result<Vec<Listed>, ListError> {
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    let mut add = |path: PathBuf, size: u64| {
        // The same file named twice (`a.png *.png`) is sent once.
        let identity = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.insert(identity) {
            files.push(Listed { path, size });
        }
    };
    for arg in args {
        let path = Path::new(arg);
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => return Err(ListError::Directory(arg.clone())),
            Ok(meta) => {
                add(path.to_path_buf(), meta.len());
                continue;
            }
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(ListError::Unreadable {
                    path: arg.clone(),
                    source: err,
                });
            }
            Err(_) if !is_pattern(arg) => return Err(ListError::NoMatch(arg.clone())),
            Err(_) => {}
        }
        let matches = glob::glob(arg).map_err(|err| ListError::BadPattern(arg.clone(), err))?;
        let mut matched = Vec::new();
        for entry in matches {
            let path = entry.map_err(|err| ListError::Unreadable {
                path: err.path().display().to_string(),
                source: std::io::Error::new(err.error().kind(), err.error().to_string()),
            })?;
            let meta = std::fs::metadata(&path).map_err(|source| ListError::Unreadable {
                path: path.display().to_string(),
                source,
            })?;
            if meta.is_file() {
                matched.push((path, meta.len()));
            }
        }
        if matched.is_empty() {
            return Err(ListError::NoMatch(arg.clone()));
        }
        matched.sort();
        for (path, size) in matched {
            add(path, size);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "assetd-upload-files-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
        for name in ["a.png", "b.png", "c.txt", "sub/d.png", "odd[1].png"] {
            std::fs::write(dir.join(name), name).expect("write");
        }
        dir
    }

    fn names(files: &[Listed], dir: &Path) -> Vec<String> {
        files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(dir)
                    .expect("under dir")
                    .display()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn files_and_patterns_once_each_in_order() {
        let dir = scratch();
        let d = dir.display();
        let args = vec![
            format!("{d}/c.txt"),
            format!("{d}/*.png"),
            format!("{d}/a.png"),
            format!("{d}/**/*.png"),
            format!("{d}/odd[1].png"),
        ];
        let files = list(&args).expect("listed");
        assert_eq!(
            names(&files, &dir),
            ["c.txt", "a.png", "b.png", "odd[1].png", "sub/d.png"]
        );
        assert_eq!(files[0].size, 5);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn nothing_matched_and_directories_are_usage_errors() {
        let dir = scratch();
        let d = dir.display();
        assert!(matches!(
            list(&[format!("{d}/missing.png")]),
            Err(ListError::NoMatch(_))
        ));
        assert!(matches!(
            list(&[format!("{d}/*.mp4")]),
            Err(ListError::NoMatch(_))
        ));
        assert!(matches!(
            list(&[format!("{d}/sub")]),
            Err(ListError::Directory(_))
        ));
        assert!(matches!(
            list(&[format!("{d}/[")]),
            Err(ListError::BadPattern(..))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
