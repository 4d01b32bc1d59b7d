//! A tiny WAV generator for sandbox recordings.
//!
//! Recordings must be real audio files (players and `<audio>` elements are picky), but
//! their content only needs to differ between calls, so a tester can hear that the
//! console played the right one. [`tones`] writes 8 kHz mono 16-bit PCM: a short melody
//! whose notes are derived from a seed string.

use std::f32::consts::TAU;

/// `wav` as an HTTP reply: `audio/wav`, `nosniff` (every recording route serves it so).
pub fn response(wav: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    ([(header::CONTENT_TYPE, "audio/wav"), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")], wav).into_response()
}

/// Samples per second.
pub const SAMPLE_RATE: u32 = 8000;
/// Longest file [`tones`] will produce, in seconds, so a silly `secs` cannot eat memory.
pub const MAX_SECS: f32 = 120.0;

/// Length of one note, in samples (250 ms).
const NOTE_SAMPLES: usize = SAMPLE_RATE as usize / 4;
/// Fade in/out at each note's edges (10 ms), so notes do not click.
const RAMP_SAMPLES: usize = SAMPLE_RATE as usize / 100;
/// Peak amplitude, about -10 dBFS: audible without being harsh.
const AMPLITUDE: f32 = 0.3 * i16::MAX as f32;
/// Note frequencies (a pentatonic scale around 440 Hz), all well inside the 4 kHz band.
const NOTES_HZ: [f32; 10] = [330.0, 392.0, 440.0, 494.0, 587.0, 659.0, 784.0, 880.0, 988.0, 1175.0];

/// A complete WAV file (RIFF header + PCM data) of `secs` seconds of tones chosen by
/// `seed`: the same seed always gives the same bytes, different seeds different melodies.
/// `secs` is clamped to `0..=MAX_SECS` (NaN counts as 0).
pub fn tones(seed: &str, secs: f32) -> Vec<u8> {
    let secs = if secs.is_finite() { secs.clamp(0.0, MAX_SECS) } else { 0.0 };
    // In range by the clamp above.
    let samples = (secs * SAMPLE_RATE as f32).round() as usize;
    let mut rng = fnv1a(seed.as_bytes());
    let mut pcm: Vec<u8> = Vec::with_capacity(samples * 2);
    let mut i = 0;
    while i < samples {
        rng = splitmix(rng);
        // One note in eight is a rest, so the melody has some rhythm.
        let freq =
            if rng % 8 == 0 { None } else { NOTES_HZ.get((rng >> 8) as usize % NOTES_HZ.len()).copied() };
        let len = NOTE_SAMPLES.min(samples - i);
        for n in 0..len {
            let v = match freq {
                Some(f) => {
                    let t = n as f32 / SAMPLE_RATE as f32;
                    let ramp = (n.min(len - 1 - n) as f32 / RAMP_SAMPLES as f32).min(1.0);
                    (TAU * f * t).sin() * AMPLITUDE * ramp
                }
                None => 0.0,
            };
            pcm.extend_from_slice(&(v as i16).to_le_bytes());
        }
        i += len;
    }
    let mut out = header(pcm.len());
    out.extend_from_slice(&pcm);
    out
}

/// Length of one [`text_tones`] note per byte, in samples (40 ms).
pub const TEXT_NOTE_SAMPLES: usize = SAMPLE_RATE as usize / 25;

/// A WAV that "encodes" `bytes`: one 40 ms tone per byte, its pitch from the byte value
/// (300 Hz + 12 Hz per unit, all inside the 4 kHz band). The sandbox's TTS: the same
/// text gives the same bytes and the length follows the text.
pub fn text_tones(bytes: &[u8]) -> Vec<u8> {
    let ramp = RAMP_SAMPLES / 2;
    let mut pcm: Vec<u8> = Vec::with_capacity(bytes.len() * TEXT_NOTE_SAMPLES * 2);
    for &b in bytes {
        let f = 300.0 + 12.0 * f32::from(b);
        for n in 0..TEXT_NOTE_SAMPLES {
            let t = n as f32 / SAMPLE_RATE as f32;
            let edge = n.min(TEXT_NOTE_SAMPLES - 1 - n) as f32 / ramp as f32;
            let v = (TAU * f * t).sin() * AMPLITUDE * edge.min(1.0);
            pcm.extend_from_slice(&(v as i16).to_le_bytes());
        }
    }
    let mut out = header(pcm.len());
    out.extend_from_slice(&pcm);
    out
}

/// The 44-byte canonical RIFF/WAVE header for `data_len` bytes of 8 kHz mono s16le.
fn header(data_len: usize) -> Vec<u8> {
    // MAX_SECS keeps data_len far below u32::MAX; saturate anyway rather than wrap.
    let data_len = u32::try_from(data_len).unwrap_or(u32::MAX - 36);
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_len).to_le_bytes());
    h.extend_from_slice(b"WAVE");
    h.extend_from_slice(b"fmt ");
    h.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&1u16.to_le_bytes()); // mono
    h.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    h.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes()); // byte rate
    h.extend_from_slice(&2u16.to_le_bytes()); // block align
    h.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

/// FNV-1a, 64-bit: a stable hash (std's `DefaultHasher` may change between releases).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// SplitMix64's step: a well-mixed pseudo-random sequence from any start value.
pub(crate) fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn header_is_valid_riff() {
        let w = tones("128754716574532539", 2.0);
        assert_eq!(&w[0..4], b"RIFF");
        assert_eq!(u32_at(&w, 4) as usize, w.len() - 8);
        assert_eq!(&w[8..16], b"WAVEfmt ");
        assert_eq!(u32_at(&w, 24), 8000);
        assert_eq!(&w[36..40], b"data");
        assert_eq!(u32_at(&w, 40) as usize, 2 * 16_000);
        assert_eq!(w.len(), 44 + 32_000);
    }

    #[test]
    fn seeds_differ_and_repeat() {
        assert_eq!(tones("a", 1.0), tones("a", 1.0));
        assert_ne!(tones("a", 1.0), tones("b", 1.0));
        assert!(tones("a", 1.0)[44..].iter().any(|&b| b != 0));
    }

    #[test]
    fn text_tones_follow_the_text() {
        let a = text_tones("测试".as_bytes());
        assert_eq!(a.len(), 44 + 6 * TEXT_NOTE_SAMPLES * 2);
        assert_eq!(u32_at(&a, 40) as usize, a.len() - 44);
        assert_eq!(a, text_tones("测试".as_bytes()));
        assert_ne!(a, text_tones("测验".as_bytes()));
        assert_eq!(text_tones(b"").len(), 44);
    }

    #[test]
    fn odd_lengths_are_clamped() {
        assert_eq!(tones("x", f32::NAN).len(), 44);
        assert_eq!(tones("x", -3.0).len(), 44);
        assert_eq!(tones("x", 1e9).len(), 44 + (MAX_SECS as usize) * 16_000);
        assert_eq!(tones("x", 0.1001).len(), 44 + 2 * 801);
    }
}
