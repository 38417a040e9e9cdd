// Package job provides the strategy for batch/v1 Jobs: selector and pod label
// generation on create, upstream's v1 defaults and validation (pod failure and success
// policies, indexed completion, the template's mutability while suspended), the status
// subresource's transition rules and the Table columns kubectl shows.
//
// It also exports the defaulting and validation of a job template for CronJobs, whose
// templates get no selector: the Job made from them does.
package job
