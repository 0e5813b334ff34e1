"""The book tooling: everything between the results record and the rendered book.

``report`` (a chapter's setup line, library listings, recorded benchmarks),
``fmt`` (numbers and Markdown tables), ``narrative`` (the sentences that depend
on the outcome), ``tables`` and ``plots`` work on the results record and need
no torch; ``freeze`` (the pre-render step), ``bookcheck`` (the book test
without Quarto) and ``timing`` (the book's execution benchmark) run the book.
The core (``mlp_lab``) never imports this package.
"""
