import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { ListPage } from '../../common/http/pagination.js';
import { unixSeconds } from '../../common/ids.js';
import { budgetView, limitColumns, limitsView } from './limits.js';
import type { CreateUserBody, ListUsersQuery, UpdateUserBody, UserView } from './users.schemas.js';
import { toPage } from '../../common/http/pagination.js';
import { UsersRepository, type UserRow } from './users.repository.js';
import type { Tx } from '../../persistence/transaction-runner.js';

/** Listens for changes that must end cached authentications at once (disable, demotion). */
export type UserChangeListener = (userId: string) => void;

@Injectable()
export class UsersService {
  private readonly listeners: UserChangeListener[] = [];

  constructor(private readonly repo: UsersRepository) {}

  onUserChanged(listener: UserChangeListener): void {
    this.listeners.push(listener);
  }

  async create(input: CreateUserBody): Promise<UserView> {
    const row = await this.repo.create({
      name: input.name,
      email: input.email ?? null,
      role: input.role,
      ...(input.tools !== undefined ? { tools: input.tools } : {}),
      ...limitColumns(input.limits, input.budget),
    });
    return toUserView(row);
  }

  async get(id: string): Promise<UserView> {
    return toUserView(await this.findOrFail(id));
  }

  async list(query: ListUsersQuery): Promise<ListPage<UserView>> {
    return toPage(await this.repo.list(query, query.role), query, toUserView);
  }

  async update(id: string, input: UpdateUserBody): Promise<UserView> {
    const row = await this.repo.transaction(async (tx) => {
      const current = await this.repo.findById(id, tx);
      if (!current) throw new DomainError('not_found', `No user with id ${id}.`);
      if (id === GUEST_USER_ID && input.role === 'admin') {
        throw new DomainError('conflict', 'The built-in guest user cannot be an admin.', { param: 'role' });
      }
      const losesAdmin = current.role === 'admin' && !current.disabled && (input.role === 'user' || input.disabled === true);
      if (losesAdmin && (await this.repo.countActiveAdmins(tx)) <= 1) {
        throw new DomainError('conflict', 'This is the last active admin; promote another user first.', {
          param: input.role === 'user' ? 'role' : 'disabled',
        });
      }
      return this.repo.update(
        id,
        {
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.role !== undefined ? { role: input.role } : {}),
          ...(input.disabled !== undefined ? { disabled: input.disabled } : {}),
          ...(input.tools !== undefined ? { tools: input.tools } : {}),
          ...limitColumns(input.limits, input.budget),
        },
        tx,
      );
    }, ADMIN_LOCK);
    for (const listener of this.listeners) listener(id);
    return toUserView(row);
  }

  /**
   * Creates the first admin when there is none, atomically with its key (issued by `issueKey`
   * in the same transaction). Answers null when an admin already exists.
   */
  async bootstrapAdmin<R>(issueKey: (userId: string, tx: Tx) => Promise<R>): Promise<R | null> {
    return this.repo.transaction(async (tx) => {
      if (await this.repo.hasAnyAdmin(tx)) return null;
      const admin = await this.repo.create({ name: 'admin', role: 'admin' }, tx);
      return issueKey(admin.id, tx);
    }, ADMIN_LOCK);
  }

  /**
   * Creates or updates the built-in guest user (fixed id, name `guest`, role user, a daily budget
   * from config), atomically with its key (made or restored by `ensureKey`). Whether it is
   * disabled and its rate limits stay as an admin set them.
   */
  async ensureGuest<R>(budgetMicros: bigint, ensureKey: (userId: string, tx: Tx) => Promise<R>): Promise<{ user: UserView; key: R }> {
    const { row, key } = await this.repo.transaction(async (tx) => {
      const row = await this.repo.upsert(GUEST_USER_ID, { name: 'guest', role: 'user', budgetMicros, budgetPeriod: 'day' }, tx);
      return { row, key: await ensureKey(row.id, tx) };
    });
    // Cached callers and the budget's counters follow the row (its budget may have changed).
    for (const listener of this.listeners) listener(row.id);
    return { user: toUserView(row), key };
  }

  /** For the auth layer: the row behind a key, to check it is enabled. */
  findRow(id: string): Promise<UserRow | null> {
    return this.repo.findById(id);
  }

  private async findOrFail(id: string): Promise<UserRow> {
    const row = await this.repo.findById(id);
    if (!row) throw new DomainError('not_found', `No user with id ${id}.`);
    return row;
  }
}

/** The built-in guest user's id: fixed, so every start and every replica finds the same account. */
export const GUEST_USER_ID = '00000000-0000-7000-8000-00000000a001';

/** Serialises changes to the set of admins (bootstrap and demotions) across replicas. */
export const ADMIN_LOCK = 0x61646d6e;

export function toUserView(row: UserRow): UserView {
  return {
    id: row.id,
    object: 'user',
    name: row.name,
    email: row.email,
    role: row.role,
    disabled: row.disabled,
    limits: limitsView(row),
    budget: budgetView(row),
    tools: toolList(row.tools),
    created_at: unixSeconds(row.createdAt)!,
    updated_at: unixSeconds(row.updatedAt)!,
  };
}

/** The stored allow list (a JSON array of names), or null. */
export function toolList(value: unknown): string[] | null {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : null;
}
