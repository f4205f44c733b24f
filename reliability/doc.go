// Package reliability holds Herald's reliability suite: tests that break
// things on purpose (kill -9 of `herald serve` mid-campaign, several
// instances, a database outage, a faulty Cloud API, hostile webhooks and
// files, every route walked for access control) and pass only when nothing
// is lost or sent twice, checked against the simulator's record of what it
// received and against the database.
//
// Quick variants run with `make test`; the long ones (50k campaigns, three
// kills, fuzzing for a fixed time) with `make test-reliability`, which
// builds them with the "reliability" tag.
package reliability
