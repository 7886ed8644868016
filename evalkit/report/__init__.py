"""What comes out: leaderboard tables (CSV, markdown), the self-contained HTML page and its charts, and the
terminal's tables. Reads runs; never writes them."""
