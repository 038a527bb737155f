"""cacao-screen: exact deforestation screening of cocoa plots."""

__version__ = "0.1.0"
