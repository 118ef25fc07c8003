"""`backorder-bot import shipments FILE.csv`: every parcel of the file recorded, or none when a row is bad.

After the products and orders fixtures, EB-150 is allocated to order 5001, both EB-300 of order 5002, and one
of the two EB-300 of order 5003 (the other waits for stock).
"""

from pathlib import Path

import pytest

from db.migrate import upgrade
from tests.cli_runner import run_cli

FIXTURES = Path(__file__).parent.parent / "fixtures" / "csv"


def _shop(capsys: pytest.CaptureFixture[str], database: str) -> None:
    upgrade(database)
    assert run_cli("import", "products", str(FIXTURES / "products.csv")) == 0
    assert run_cli("import", "orders", str(FIXTURES / "orders.csv")) == 0
    capsys.readouterr()


def test_the_shipments_of_a_file_are_recorded_once(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    _shop(capsys, cli_database)

    first = run_cli("import", "shipments", str(FIXTURES / "shipments.csv"))
    first_out = capsys.readouterr().out
    again = run_cli("import", "shipments", str(FIXTURES / "shipments.csv"))
    again_out = capsys.readouterr().out

    assert (first, again) == (0, 0)
    assert first_out.strip() == "shipments.csv: 3 shipments recorded (4 units shipped)."
    assert again_out.strip() == "shipments.csv: nothing changed; all 3 shipments had been recorded before."


def test_a_file_with_one_bad_row_records_nothing_and_says_which_row(
    cli_database: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _shop(capsys, cli_database)
    bad = tmp_path / "shipments.csv"
    bad.write_text(
        "order_number,sku,quantity,carrier,tracking_number,tracking_url\n"
        "5001,EB-150,1,DHL,T-1,https://example.com/T-1\n"
        "5003,EB-300,2,DPD,T-2,\n"
        "5002,EB-300,1,DPD,T-3,javascript:alert(1)\n",
        encoding="utf-8",
    )

    code = run_cli("import", "shipments", str(bad))

    err = capsys.readouterr().err
    assert code == 1
    assert "nothing was changed" in err
    assert "row 4, tracking_url: 'javascript:alert(1)' is not a web address starting with https:// or http://" in err
    assert "row 2" not in err
    bad.write_text(bad.read_text().replace("javascript:alert(1)", ""), encoding="utf-8")
    assert run_cli("import", "shipments", str(bad)) == 1
    err = capsys.readouterr().err
    assert "row 3: Only 1 of SKU EB-300 can ship: that is what is allocated and not yet shipped; 1 still wait for stock." in err
    assert run_cli("import", "shipments", str(FIXTURES / "shipments.csv"), "--dry-run") == 0
    assert capsys.readouterr().out.startswith("Dry run, nothing was written. shipments.csv: 3 shipments recorded")
    assert run_cli("import", "shipments", str(FIXTURES / "shipments.csv")) == 0  # nothing of the bad files was recorded
    assert "3 shipments recorded" in capsys.readouterr().out
