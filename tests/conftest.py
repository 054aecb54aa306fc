"""Shared fixtures: a seeded generator and closing figures after each test (seaborn's habits)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")
