import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { userView } from '../users/users.schemas.js';
import { UsersService } from '../users/users.service.js';

const meView = userView.extend({ key: z.object({ id: z.uuid() }).describe('The key this request used.') }).meta({ id: 'Me' });
type MeView = z.infer<typeof meView>;

@ApiTags('Users')
@ApiBearerAuth()
@Controller('me')
export class MeController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'The caller: its user and the key in use' })
  @ApiOk(meView)
  @ApiErrors(403)
  async me(@CurrentUser() caller: Caller): Promise<MeView> {
    return { ...(await this.users.get(caller.userId)), key: { id: caller.keyId } };
  }
}
