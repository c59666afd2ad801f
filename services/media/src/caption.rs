//! Caption detection (SRT, ASS, LRC) from the first lines of text (the sniffer's last resort:
//! captions have no magic number).
//! Captions have no dimensions or duration: the probe only confirms the format.

/// `srt`, `ass` or `lrc` when the text's first lines follow that format.
pub fn detect(prefix: &[u8]) -> Option<&'static str> {
    let text = utf8_prefix(prefix)?;
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let first = lines.next()?;
    if first.eq_ignore_ascii_case("[script info]") {
        return Some("ass");
    }
    if first.chars().all(|c| c.is_ascii_digit()) && lines.next().is_some_and(is_srt_timing) {
        return Some("srt");
    }
    if is_lrc_line(first) {
        return Some("lrc");
    }
    None
}

/// The prefix as text, tolerating a multi-byte character cut at the end; `None` if not UTF-8.
fn utf8_prefix(prefix: &[u8]) -> Option<&str> {
    match std::str::from_utf8(prefix) {
        Ok(text) => Some(text),
        Err(err) if err.error_len().is_none() => {
            std::str::from_utf8(prefix.get(..err.valid_up_to())?).ok()
        }
        Err(_) => None,
    }
}

/// `00:00:01,000 --> 00:00:04,000`, optionally followed by position settings.
fn is_srt_timing(line: &str) -> bool {
    let Some((start, end)) = line.split_once("-->") else {
        return false;
    };
    let end = end.split_whitespace().next().unwrap_or("");
    is_srt_time(start.trim()) && is_srt_time(end)
}

fn is_srt_time(time: &str) -> bool {
    let bytes = time.as_bytes();
    bytes.len() == 12
        && bytes.iter().enumerate().all(|(i, b)| match i {
            2 | 5 => *b == b':',
            8 => *b == b',' || *b == b'.',
            _ => b.is_ascii_digit(),
        })
}

/// `[mm:ss.xx] lyric` or an ID tag such as `[ti:Title]`.
fn is_lrc_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    let Some((tag, _)) = rest.split_once(']') else {
        return false;
    };
    let Some((minutes, seconds)) = tag.split_once(':') else {
        return false;
    };
    let minutes_ok = !minutes.is_empty() && minutes.chars().all(|c| c.is_ascii_digit());
    let seconds_ok = seconds.len() >= 2 && seconds.chars().all(|c| c.is_ascii_digit() || c == '.');
    if minutes_ok && seconds_ok {
        return true;
    }
    [
        "ti", "ar", "al", "au", "by", "offset", "length", "re", "ve", "tool", "#",
    ]
    .contains(&minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(
            detect(b"1\n00:00:01,000 --> 00:00:02,500\nHi\n"),
            Some("srt")
        );
        assert_eq!(detect(b"[Script Info]\nTitle: x\n"), Some("ass"));
        assert_eq!(detect(b"[ti:Song]\n[00:12.00]Line\n"), Some("lrc"));
        assert_eq!(detect(b"hello"), None);
        assert_eq!(detect(&[0xff, 0xfe, 0]), None);
    }
}
