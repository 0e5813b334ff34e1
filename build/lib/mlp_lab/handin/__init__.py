"""The course hand-in (``python -m mlp_lab handin``, ``make handin``).

The course asks for two executed notebooks (Part A ``backpropagation.ipynb``,
Part B ``gradient_descent.ipynb``) and a PDF report. The notebooks are built
from the library's own source (:func:`mlp_lab.book.report.source_text`) and
the book's partials, executed in a fresh Jupyter kernel, and packed with the
report edition's PDF, a README.txt and a zip of the four.
"""
