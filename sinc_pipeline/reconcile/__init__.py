"""Conferir Lojas: compare every synced table of a store in full and repair what differs."""
