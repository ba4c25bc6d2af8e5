"""Streaming text segmentation and normalization."""

from ttsd.text.segmenter import find_release_point, split_sentences
from ttsd.text.words import count_words, split_words, word_spans

__all__ = ["count_words", "find_release_point", "split_sentences", "split_words", "word_spans"]
