"""What ``graphcheck explain`` knows about a model, as plain data every renderer can draw.

Named ``explanations`` rather than ``explain`` so that the public function
``graphcheck.explain`` is never shadowed by importing this package.
"""
