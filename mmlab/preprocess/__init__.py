"""Data preparation, one modality at a time: cleaning (drop what is broken, duplicated or fake) and
standardisation (bring every input to one form and scale). Notebook 01 walks through each step.

Text      ``normalize_text``: bytes decoded as UTF-8 -> Unicode NFKC (full-width to half-width) -> case folding
          -> punctuation to spaces (hyphens and apostrophes inside words, decimal points inside numbers kept)
          -> quantities in one spelling ("1 公斤", "1KG" -> "1 kg"; see ``UNITS``) -> a space where Chinese
          meets Latin letters or digits -> single spaces. ``tokens`` splits the result for baselines: Latin
          words at spaces, every Chinese character on its own.
Images    ``load_image`` (clear errors for missing or corrupt files) -> ``image_problems`` (corrupt, blank,
          wrong mode or size) -> ``find_near_duplicates`` (perceptual hash) -> ``resize`` (pad to a white
          square, then scale) -> ``channel_stats`` on the training split -> ``standardise`` (float32 CHW).
Audio     ``load_audio`` (a file -> mono -> 16 kHz) or ``prepare_audio`` (an array): ``to_mono`` ->
          ``resample`` -> ``trim_silence`` -> ``normalize_loudness``; ``check_duration`` reports clips that
          are too short or too long.
Reviews   ``clean_reviews``: empty texts, spam (``spam_signals``), duplicates of an earlier review of the
          same SKU.
Behaviour ``clean_events``: repeated rows, events of unknown users, bots (``user_activity``), searches
          whose results were never logged.

One module per modality (``text``, ``images``, ``audio``, ``reviews``, ``behaviour``); import every step from here.

Cleaning never drops a row silently: every removed row comes back with its ``reason`` (and a ``detail``),
and ``cleaning_report`` counts them.
"""

from __future__ import annotations

from mmlab.preprocess.text import CJK, UNITS, normalize_text, tokens
from mmlab.preprocess.images import (BLANK_STD, channel_stats, find_near_duplicates, image_problems, load_image,
                                     perceptual_hash, resize, standardise, to_rgb)
from mmlab.preprocess.audio import (MAX_CHANNELS, SILENT_RMS, check_duration, load_audio, loudness_dbfs,
                                    normalize_loudness, prepare_audio, resample, to_mono, trim_silence)
from mmlab.preprocess.reviews import SPAM_SIGNALS, clean_reviews, spam_signals
from mmlab.preprocess.behaviour import BOT_CLICKS_PER_MINUTE, clean_events, user_activity
from mmlab.preprocess.checks import cleaning_report

__all__ = ["CJK", "UNITS", "normalize_text", "tokens", "BLANK_STD", "channel_stats", "find_near_duplicates",
           "image_problems", "load_image", "perceptual_hash", "resize", "standardise", "to_rgb", "MAX_CHANNELS",
           "SILENT_RMS", "check_duration", "load_audio", "loudness_dbfs", "normalize_loudness", "prepare_audio",
           "resample", "to_mono", "trim_silence", "SPAM_SIGNALS", "clean_reviews", "spam_signals",
           "BOT_CLICKS_PER_MINUTE", "clean_events", "user_activity", "cleaning_report"]
