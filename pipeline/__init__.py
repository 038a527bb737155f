"""cacao-screen: exact deforestation screening of cocoa plots."""

__version__ = "0.2.0"
