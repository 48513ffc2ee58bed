/** The audit log part of the platform API: newest first, searchable, keyset pages. */
import { auditSearchPatterns, auditSearchSql, invalidArgument } from '../core';
import { toBuffer, toIso } from '../store/desired-state.repository';
import type { ApiContext, Caller } from './api-context';
import { hex, makePageToken, pageSize, pageToken, str, type Req } from './request-fields';

export class AuditApi {
  constructor(private readonly ctx: ApiContext) {}

  async listAuditEvents(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const limit = pageSize(req['pageSize']);
    const before = pageToken(req['pageToken'], 'audit');
    if (before !== null && !/^\d+$/.test(before)) throw invalidArgument('page_token is not valid for this request');
    const params: unknown[] = [c.tenantId];
    let where = 'tenant_id = $1';
    const resource = str(req['resourceName']);
    if (resource) {
      params.push(resource);
      where += ` AND resource_name = $${params.length}`;
    }
    for (const pattern of auditSearchPatterns(str(req['query']))) {
      params.push(pattern);
      where += ` AND ${auditSearchSql(`$${params.length}`)}`;
    }
    if (before !== null) {
      params.push(before);
      where += ` AND id < $${params.length}::bigint`;
    }
    params.push(limit + 1);
    const { rows } = await this.ctx.repo.db.query(`SELECT * FROM audit_log WHERE ${where} ORDER BY id DESC LIMIT $${params.length}`, params);
    const page = rows.slice(0, limit);
    return {
      events: page.map((r) => ({
        id: str(r['id']),
        actor: str(r['actor']),
        action: str(r['action']),
        resourceType: str(r['resource_type']),
        resourceName: str(r['resource_name']),
        beforeHash: hex(toBuffer(r['before_hash'])),
        afterHash: hex(toBuffer(r['after_hash'])),
        time: toIso(r['created_at']),
        detailsJson: JSON.stringify(r['details'] ?? {}),
      })),
      nextPageToken: rows.length > limit ? makePageToken('audit', str(page[page.length - 1]['id'])) : '',
    };
  }
}
