// Package dynamoledger is the AWS host's status store on one DynamoDB table:
// the ledger.Ledger, the request id Claims of intake, the NumberHolds of
// check-license and complete (the steps.Claims and steps.NumberHolds ports,
// satisfied by method set; this package does not import the steps), and the
// Signatures the HTTP door accepted (its httpapi.SignatureLog port, by
// method set too), shared by all of the door's instances.
//
// # Item layout
//
// The table has a string partition key pk and a string sort key sk
// (CreateTable makes it, on-demand, with TTL on the ttl attribute):
//
//	item          pk               sk                  other attributes
//	------------  ---------------  ------------------  --------------------------------------------------
//	status        req#<requestId>  status              requestId step type outcome reason detail attempt
//	                                                   started updated (Unix ns) seq (entries so far)
//	                                                   [account objectId action, each with its …At] [ttl]
//	history line  req#<requestId>  entry#<seq, 10 d>   requestId eventId type step time (Unix ns) attempt
//	                                                   reason detail outcome [account objectId action] [ttl]
//	event seen    event#<eventId>  event               requestId [ttl]
//	claim         claim#<reqId>    claim               requestId eventId fingerprint at (Unix ns)
//	number hold   number#<e164>    hold                number requestId at (Unix ns)
//	signature     sig#<hex key>    signature           ttl (the signature's expiry)
//
// Empty strings are not stored, so items written before account, objectId
// and action were kept read with them empty. A status item's accountAt,
// objectIdAt and actionAt (Unix ns) are the times of the entries its values
// came from: the newest entry that carries a value keeps it. A request's
// status and history share a partition, so Get is one consistent Query.
//
// # Idempotency
//
// Every rule is a condition on a write, never a read-then-write left to
// chance:
//   - Record writes, per request and in one transaction, each entry's
//     "event seen" item (attribute_not_exists: an event id already recorded,
//     by any request, is skipped), its history line, and the status item
//     recomputed from the entries, conditioned on the status item's seq
//     being the one read (optimistic concurrency). A lost race re-reads and
//     retries; the latest entry by Time wins the status and ties go to the
//     one recorded last, as in every ledger (ledgertest). The seq also
//     numbers the history lines, so history is in recording order within
//     equal times.
//   - Claim is a put with attribute_not_exists; a refused put returns the
//     holder's event id and fingerprint from the item the condition saw.
//   - Hold is the same on the number; Release deletes only on the
//     condition that the releasing request is the holder.
//   - Signatures.First is a put with attribute_not_exists OR ttl before the
//     current second: an expired item that TTL has not deleted yet does not
//     block its key, a live one refuses the put (a replay).
//
// Entries of one Record call that belong to different requests are written
// in one transaction per request (49 entries at most in each), so a failed
// call may have recorded part of them; calling again records the rest and
// skips the others.
//
// # Reads
//
// Get sees a request's status and history in one consistent Query; a Query
// racing a Record may see the new status before the new history line
// (DynamoDB's read-committed isolation across items).
//
// List and Summary Scan the table (consistently) and keep the status
// items: their cost grows with the whole table, history included. They are
// for operators and tests, not for a hot path: a step never calls them.
//
// # Expiry
//
// With Options.ExpireAfter set, status, history and "event seen" items
// carry ttl, the Unix time in seconds ExpireAfter after they were written
// (a status item's is pushed back at every Record), and DynamoDB's TTL
// deletes them some time after that. A signature item always carries ttl,
// its signature's expiry (5 minutes after the signature's timestamp),
// whatever ExpireAfter says; First ignores an expired one, since TTL may
// take a while to delete it. Claims and number holds never expire:
// a request id provisions once, forever (DESIGN §1), even after its ledger
// lines are gone, and a hold lasts until its request releases it.
package dynamoledger
