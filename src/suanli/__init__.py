"""suanli: unified multi-cloud AI compute scheduling and operations platform."""

__version__ = "0.1.0"
