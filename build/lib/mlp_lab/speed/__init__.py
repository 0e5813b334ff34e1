"""The speed study: how fast mlp_lab trains, against what, and where the time goes.

``bench`` (``python -m mlp_lab bench``) times the course-style pipeline of
``reference`` against mlp_lab, the data preparation and float32; ``bound``
derives the compute-bound time from the matmul rates of this machine; and
``anatomy`` times one training batch in stages against that bound. The core
(``mlp_lab``) never imports this package.
"""
