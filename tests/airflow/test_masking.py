"""One masking mechanism: secrets registered with Airflow's masker in every form, texts redacted."""

import logging

from closrads.airflow.masking import mask_secret_forms, masked_logger, redacted

SECRET = "p@ss w/rd&x=1-Zq81"


def test_every_encoding_of_a_secret_is_masked():
    mask_secret_forms(SECRET)
    text = (
        "GET /demand.php?pass=p%40ss+w%2Frd%26x%3D1-Zq81 (quote_plus) "
        "p%40ss%20w%2Frd%26x%3D1-Zq81 (quote) p%40ss%20w/rd%26x%3D1-Zq81 (quote, / kept) "
        "p@ss w/rd&amp;x=1-Zq81 (HTML) raw p@ss w/rd&x=1-Zq81"
    )
    masked = redacted(text)
    assert "Zq81" not in masked
    assert masked.count("***") == 5


def test_a_masked_logger_hides_secrets_in_its_records_at_debug(caplog):
    mask_secret_forms(SECRET)
    logger = masked_logger("tests.masking.urllib3-like")
    masked_logger("tests.masking.urllib3-like")  # idempotent: one filter only
    assert len(logger.filters) == 1
    with caplog.at_level(logging.DEBUG, logger="tests.masking.urllib3-like"):
        logger.debug('%s "%s %s"', "http://127.0.0.1", "GET", "/demand.php?pass=p%40ss+w%2Frd%26x%3D1-Zq81")
    assert "Zq81" not in caplog.text and "pass=***" in caplog.text


def test_reading_a_connection_masks_the_request_line_logger(sandbox):
    from closrads.airflow.hooks.closrtech import ClosrtechHook

    _ = ClosrtechHook().settings
    assert logging.getLogger("urllib3.connectionpool").filters


def test_a_secret_query_parameter_is_scrubbed_by_name_even_when_the_masker_does_not_know_it():
    line = "GET /demand.php?campaign=VND&email=a%40b.c&pass=abc HTTP/1.1 | /v25.0/act_1/adsets?access_token=xyz&limit=1"
    assert redacted(line) == (
        "GET /demand.php?campaign=VND&email=a%40b.c&pass=*** HTTP/1.1 | /v25.0/act_1/adsets?access_token=***&limit=1"
    )
    assert redacted("a passage about passwords=none") == "a passage about passwords=none"  # not a query parameter
