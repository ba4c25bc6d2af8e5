"""`first_phrase_end`: where a slowly streamed first text may be cut before its sentence ends."""

import pytest

from ttsd.text.segmenter import find_release_point, first_phrase_end


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Thanks for calling our support", "Thanks for calling "),
        # The longest prefix: "our" is complete, and so is nothing after it.
        ("Thanks for calling our support line", "Thanks for calling "),
        ("We went out to the store", "We went out "),
        # A run of function words opens one phrase: never "to | the store".
        ("We went out for a walk to the park", "We went out for a walk "),
        ("Thanks for calling our support line and ", "Thanks for calling our support line "),
        ("Thanks for calling our support line and", "Thanks for calling "),
        # Case-insensitive, and any whitespace counts.
        ("WE ARE GOING TO THE park", "WE ARE GOING "),
        ("We are\tgoing\nto the park", "We are\tgoing\n"),
        # A clause end of too few words is no obstacle: the phrase cut goes past it.
        ("Well, thanks for calling our support", "Well, thanks for calling "),
        # A bracket that closed before the cut is fine.
        ("We (the team) thank you for it", "We (the team) thank you "),
    ],
)
def test_the_longest_prefix_before_a_phrase_is_cut(text: str, first: str) -> None:
    assert text[: first_phrase_end(text, min_words=3)] == first


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for calling our",  # "our" may still become "ours"
        "Thanks for calling",
        "I went to the",  # only two words before "to"; "the" is not known complete
        "I went to the store",  # "the" follows "to": "went to | the" would split a phrase
        "Thanks for calling ours",  # "ours" is no phrase opener
        "Thanks for",  # one word before "for"
        "The first word alone is no cut ",  # "The" has no words before it
        "",
        "   ",
    ],
)
def test_no_cut_without_a_complete_phrase_word_after_enough_words(text: str) -> None:
    assert first_phrase_end(text, min_words=3) == 0


@pytest.mark.parametrize(
    "text",
    [
        '"We are going to the',  # open quote
        "We said (that we would go to the",  # open parenthesis
        "He wrote «we are here for the",
    ],
)
def test_no_cut_inside_an_open_bracket_or_quote(text: str) -> None:
    assert first_phrase_end(text, min_words=3) == 0


def test_a_cut_before_the_bracket_opens_is_still_made() -> None:
    text = "We are going to (the park) and then"
    # Before "and" the parenthesis closed again ("(the" itself is no phrase word).
    assert text[: first_phrase_end(text, min_words=3)] == "We are going to (the park) "
    text = "We are going to (the park and then"
    assert text[: first_phrase_end(text, min_words=3)] == "We are going "


def test_min_words_is_the_number_of_words_before_the_cut() -> None:
    text = "One two three for the"
    assert first_phrase_end(text, min_words=3) == len("One two three ")
    assert first_phrase_end(text, min_words=4) == 0
    assert text[: first_phrase_end("One two for you", min_words=2)] == "One two "
    # min_words below one still needs a word before the cut: the prefix is never empty.
    assert first_phrase_end("The cat ", min_words=0) == 0
    assert "Go to it"[: first_phrase_end("Go to it", min_words=0)] == "Go "


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for calling our support line today.",  # the sentence is complete
        "Thanks for calling our support line today. I have the",
        "Hi. Thanks for calling our support",
        "Thanks for calling us today, and we are here for",  # a clause end of 5 words
    ],
)
def test_no_phrase_cut_where_a_sentence_or_clause_end_is_released(text: str) -> None:
    """The phrase cut is the fallback for text with neither; the release finder takes it."""
    assert first_phrase_end(text, min_words=3) == 0
    assert find_release_point(text, first_segment=True, min_clause_words=3) > 0


def test_a_pending_abbreviation_is_no_sentence_end() -> None:
    text = "Please ask Dr. Smith about the"
    assert text[: first_phrase_end(text, min_words=3)] == "Please ask Dr. Smith "


@pytest.mark.parametrize(
    "text",
    [
        "Vielen Dank für Ihren Anruf bei unserem Support heute",
        "Merci beaucoup pour votre appel aujourd'hui",
        "感谢您致电我们的支持热线 今天",
        "Спасибо за ваш звонок в нашу службу поддержки",
    ],
)
def test_text_without_english_phrase_words_is_not_cut(text: str) -> None:
    assert first_phrase_end(text, min_words=3) == 0


def test_a_phrase_word_with_punctuation_attached_is_not_an_opener() -> None:
    # "for," ends a clause, it opens nothing; "for" inside "before-hand" is no word.
    assert first_phrase_end("What is this thing for, then", min_words=3) == 0
    assert first_phrase_end("We planned it before-hand quite well", min_words=3) == 0
