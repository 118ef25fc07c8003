"""What the shop's figures say over a period: the impact summary the console's home page shows."""
