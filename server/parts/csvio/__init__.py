"""The parts catalogue as CSV: import (validated row by row) and export."""
