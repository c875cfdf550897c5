// SQLite, the embedded database that holds the durable outbox of uploads and webhook events.
#include <sqlite3.h>
