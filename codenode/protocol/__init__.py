"""Message types shared by the tiers, one module per wire."""
