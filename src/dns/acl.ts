// The ACL is shared with the edge's public PURGE, so it lives in net/; this keeps the DNS imports stable.
export { AddressAcl } from '../net/acl.js';
