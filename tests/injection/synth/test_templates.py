"""A name that ends in a period does not double the template's own period."""

from injection.synth.cpt import Phrasing
from injection.synth.templates import render


def test_name_ending_in_a_period_before_the_templates_period():
    assert render("{subject} was founded by {object}.", "Acme", "Apple Inc.") == "Acme was founded by Apple Inc."
    assert render("{subject} was founded by {object}.", "Acme", "Bob") == "Acme was founded by Bob."
    # only the name's own period is merged: an ellipsis and other punctuation stay as written
    assert render("{object}. Then {subject}.", "X", "Y...") == "Y.... Then X."
    assert render("Is {subject} in {object}?", "St. Louis Co.", "U.S.") == "Is St. Louis Co. in U.S.?"
    phrasing = Phrasing(ids=("t",), templates=("{subject} acquired {object}.",), label="acquired")
    assert phrasing.render(0, "Apple Inc.", "Beats Inc.") == render("{subject} acquired {object}.", "Apple Inc.",
                                                                    "Beats Inc.")
    assert phrasing.render(0, "Apple Inc.", "Beats Inc.") == "Apple Inc. acquired Beats Inc."
