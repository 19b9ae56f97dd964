#!/usr/bin/env bash
# Creates the SQLite database Kamailio's auth_db and usrloc read, with N subscribers
# FIRST..FIRST+N-1 in DOMAIN, each with a random password stored only as HA1
# (MD5(user:realm:password), the realm being the domain), and writes the SIPp
# credentials CSV (user;password) that the scenarios read with -inf.
#
#   seed_db.sh DB_FILE CSV_FILE [N=1000] [FIRST=1000] [DOMAIN=bench.example]
set -euo pipefail
db=${1:?usage: seed_db.sh DB_FILE CSV_FILE [N] [FIRST] [DOMAIN]}
csv=${2:?usage: seed_db.sh DB_FILE CSV_FILE [N] [FIRST] [DOMAIN]}
n=${3:-1000}
first=${4:-1000}
domain=${5:-bench.example}
schema=/usr/share/kamailio/db_sqlite
for t in standard auth_db usrloc dialog; do
    [[ -r $schema/$t-create.sql ]] || { echo "seed_db: $schema/$t-create.sql missing (apt-get install kamailio-sqlite-modules)" >&2; exit 1; }
done
rm -f "$db" "$db-wal" "$db-shm"
cat "$schema/standard-create.sql" "$schema/auth_db-create.sql" \
    "$schema/usrloc-create.sql" "$schema/dialog-create.sql" | sqlite3 "$db"
python3 - "$db" "$csv" "$n" "$first" "$domain" <<'PY'
import hashlib, secrets, sqlite3, sys
db, csv, n, first, domain = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
con = sqlite3.connect(db)
rows, lines = [], ["SEQUENTIAL"]
for i in range(first, first + n):
    user, pw = str(i), secrets.token_urlsafe(12)
    while pw[:2].lower() == "0x":  # SIPp reads a password starting 0x as hex
        pw = secrets.token_urlsafe(12)
    ha1 = hashlib.md5(f"{user}:{domain}:{pw}".encode()).hexdigest()
    ha1b = hashlib.md5(f"{user}@{domain}:{domain}:{pw}".encode()).hexdigest()
    # The plain password column stays empty: like Ringfence, only HA1 is stored.
    rows.append((user, domain, "", ha1, ha1b))
    lines.append(f"{user};[authentication username={user} password={pw}]")
con.executemany("INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?,?,?,?,?)", rows)
con.commit()
con.execute("PRAGMA journal_mode=WAL")
con.close()
with open(csv, "w") as f:
    f.write("\n".join(lines) + "\n")
PY
echo "seed_db: $n subscribers $first..$((first + n - 1))@$domain in $db, credentials in $csv"
